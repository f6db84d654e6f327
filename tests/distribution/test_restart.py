"""A send killed mid-batch (SIGKILL, in a real process) and run again: every contact invited exactly once, the
batch under way lost whole (no invitation without its mail, no mail without its log), nothing sent twice."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter

from tests.distribution.conftest import NOW, add_contacts, make_send
from voxpop.collection.models import Invitation
from voxpop.distribution.models import InvitationEvent, Send, SendInvitation
from voxpop.distribution.planning import run_send
from voxpop.notify.mail import send_due_mail
from voxpop.notify.models import OutgoingMail

# Runs the send in batches of 3 and stops dead inside the third batch, after its second invitation was written
# but before the batch commits: it says "holding" and waits to be killed.
RUNNER = """
import sys, threading
from datetime import datetime
from voxpop.distribution import planning
from voxpop.distribution.models import Send
from voxpop.settings import Settings
from voxpop.store.database import Database

db = Database(sys.argv[1])
settings = Settings(data_dir=sys.argv[2], database_url=sys.argv[1], secret_key=sys.argv[3])
now = datetime.fromisoformat(sys.argv[4])
original, made = planning.invite, [0]

def invite(*args, **kwargs):
    row = original(*args, **kwargs)
    made[0] += 1
    if made[0] == 8:
        print("holding", flush=True)
        threading.Event().wait()
    return row

planning.invite = invite
while True:
    with db.write() as db_session:
        send = db_session.query(Send).filter_by(key="wave").one()
        if planning.run_send(db_session, send, settings, now, limit=3).remaining == 0:
            break
"""


def test_a_send_killed_mid_batch_and_run_again_invites_everyone_exactly_once(db, feedback, database_url, settings,
                                                                               tmp_path, smtp_server):
    add_contacts(db, [(f"C-{n}", f"c{n}@example.com", "en", {"name": f"N{n}"}) for n in range(10)])
    send_id = make_send(db)
    runner = subprocess.Popen([sys.executable, "-c", RUNNER, database_url, str(tmp_path), settings.secret_key,
                               NOW.isoformat()], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = runner.stdout.readline()
        assert line.strip() == b"holding", runner.stderr.read().decode()
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=60)
    finally:
        if runner.poll() is None:
            runner.kill()
    with db.read() as db_session:  # two batches committed; the third lost whole
        assert db_session.query(SendInvitation).count() == 6
        assert db_session.query(Invitation).count() == db_session.query(OutgoingMail).count() == 6
        assert db_session.query(InvitationEvent).filter_by(kind="queued").count() == 6
        assert db_session.get(Send, send_id).status == "sending"
    while True:
        with db.write() as db_session:
            if run_send(db_session, db_session.get(Send, send_id), settings, NOW, limit=3).remaining == 0:
                break
    mail_settings = settings.model_copy(update=smtp_server.settings())
    assert send_due_mail(db, settings=mail_settings, now=NOW) == 10
    assert send_due_mail(db, settings=mail_settings, now=NOW) == 0
    received = Counter(message["To"] for message in smtp_server.messages)
    assert received == {f"c{n}@example.com": 1 for n in range(10)}

"""Non-response diagnostics on both databases: an Enterprise segment that under-responds and scores lower makes
the chi-square significant, and raking to the audience's margins moves NPS out of its unweighted interval."""

from __future__ import annotations

import pytest
from scipy import stats

from tests.results.nonresponse_stored import UNWEIGHTED_NPS, WEIGHTED_NPS, invited_audience
from tests.results.stored import answer, shop
from voxpop.core import comparisons
from voxpop.core.estimates import wilson_interval
from voxpop.results.nonresponse import NonresponseError, _comparison_flags, diagnose
from voxpop.results.service import UnknownSurvey


def _diagnosed(db, **options):
    with db.read_connection() as connection:
        return diagnose(connection, survey_key="shop", **options)


def _test(result, name):
    return next(test for test in result.attributes if test.name == name)


def test_segment_under_responds_and_the_chi_square_says_so(db):
    invited_audience(db)
    result = _diagnosed(db)
    assert (result.invited, result.responded, result.unlinked) == (200, 80, 0)
    assert result.response_rate.value == pytest.approx(40.0)
    segment = _test(result, "segment")
    expected = stats.chi2_contingency([[20, 80], [60, 40]])
    assert segment.test == "chi-square"
    assert segment.statistic == pytest.approx(expected.statistic)
    assert segment.p_value == pytest.approx(expected.pvalue)
    enterprise = segment.categories[0]
    assert (enterprise.value, enterprise.invited, enterprise.responded) == ("Enterprise", 100, 20)
    low, high = wilson_interval(20, 100, 0.95)
    assert (enterprise.rate.ci_low, enterprise.rate.ci_high) == pytest.approx((100 * low, 100 * high))
    assert (enterprise.audience_share, enterprise.respondent_share) == pytest.approx((50.0, 25.0))
    assert segment.differs and "Enterprise answered least (20% of 100)" in segment.verdict
    region = _test(result, "region")
    assert region.p_value == pytest.approx(1.0) and not region.differs
    assert "No evidence" in region.verdict
    assert any(skip.startswith("code: 200 distinct values") for skip in result.skipped)


def test_holm_across_attributes_and_spend_by_welch(db):
    invited_audience(db)
    result = _diagnosed(db)
    spend = _test(result, "net revenue, last 365 days")
    # Net revenue of the year before: sale less cancellation, postage and the older purchase left out.
    respondents = [300.0] * 20 + [100.0] * 60
    silent = [300.0] * 80 + [100.0] * 40
    welch = stats.ttest_ind(respondents, silent, equal_var=False)
    assert (spend.means.respondents, spend.means.non_respondents) == pytest.approx((150.0, 700 / 3))
    assert spend.p_value == pytest.approx(welch.pvalue)
    assert spend.standardized_difference < -0.1 and spend.differs
    tenure = _test(result, "tenure (days)")  # from the first purchase, 800 to 806 days before the invitation
    assert tenure.test == "welch-t" and 794 <= tenure.means.respondents <= 800
    tested = [test for test in result.attributes if test.p_value is not None]
    assert [test.p_holm for test in tested] == pytest.approx(comparisons.holm([test.p_value for test in tested]))


def test_weighting_moves_nps_and_is_flagged(db):
    invited_audience(db)
    result = _diagnosed(db)
    weighting = result.weighting
    assert weighting.by == ["segment"] and weighting.chosen_by == "tests" and weighting.error is None
    nps = next(metric for metric in weighting.metrics if metric.question == "nps")
    assert nps.unweighted.value == pytest.approx(UNWEIGHTED_NPS)
    assert nps.weighted.value == pytest.approx(WEIGHTED_NPS)
    assert nps.changes
    # Enterprise respondents stand for 5 invited customers each, SMB ones for 5/3: n_eff = (Σw)²/Σw² =
    # 200² / (20·25 + 60·25/9) = 60 of the 80 answers.
    assert weighting.largest_weight == pytest.approx(5.0) and weighting.smallest_weight == pytest.approx(5 / 3)
    assert weighting.effective_n == pytest.approx(200 ** 2 / (20 * 25 + 60 * 25 / 9)) == 60
    assert weighting.design_effect == pytest.approx(80 / weighting.effective_n)
    assert nps.weighted.ci_high - nps.weighted.ci_low > nps.unweighted.ci_high - nps.unweighted.ci_low
    assert any("NPS of" in finding and "report the weighted one" in finding for finding in weighting.findings)
    assert "conclusion(s) change" in result.summary


def test_weighting_by_region_only_changes_nothing(db):
    invited_audience(db)
    result = _diagnosed(db, weight_by=["region"])
    weighting = result.weighting
    assert weighting.by == ["region"] and weighting.chosen_by == "asked"
    nps = next(metric for metric in weighting.metrics if metric.question == "nps")
    assert nps.weighted.value == pytest.approx(nps.unweighted.value)
    assert not nps.changes and weighting.effective_n == pytest.approx(80)


def test_a_segment_difference_that_flips_when_weighted_is_flagged():
    # Web: 80 promoters weighted 0.2 and 20 detractors weighted 3 (NPS +60 unweighted, (16 − 60)/76 = −57.9
    # weighted); app: 50 promoters and 50 detractors weighted 1 (NPS 0 either way).
    answers = [(i, 1.0, 0.2) for i in range(80)] + [(i, -1.0, 3.0) for i in range(80, 100)] + \
        [(i, 1.0, 1.0) for i in range(100, 150)] + [(i, -1.0, 1.0) for i in range(150, 200)]
    segments = {i: {"channel": "web" if i < 100 else "app"} for i in range(200)}
    flags = _comparison_flags({("nps", "Recommend?", "nps"): answers}, segments, 0.95, 30)
    web = next(flag for flag in flags if flag.segment == "web")
    assert web.unweighted_difference == pytest.approx(60.0)
    assert web.weighted_difference == pytest.approx(100 * (16 - 60) / 76)
    assert web.unweighted_p_holm < 0.05 and "changes sign when weighted" in web.finding


def test_equal_weights_flag_nothing():
    answers = [(i, 1.0 if i % 3 else -1.0, 2.0) for i in range(120)]
    segments = {i: {"channel": "web" if i < 40 else "app"} for i in range(120)}
    assert _comparison_flags({("nps", "Recommend?", "nps"): answers}, segments, 0.95, 30) == []


def test_unknown_weight_attribute_and_send_are_refused_with_the_parameter(db):
    invited_audience(db, spend=False)
    with pytest.raises(NonresponseError, match="no categorical attribute 'colour'") as caught:
        _diagnosed(db, weight_by=["colour"])
    assert caught.value.parameter == "weight"
    with pytest.raises(NonresponseError) as caught:
        _diagnosed(db, send="no-such-send")
    assert caught.value.parameter == "send"
    with pytest.raises(UnknownSurvey):
        with db.read_connection() as connection:
            diagnose(connection, survey_key="nope")


def test_without_transactions_spend_is_not_tested(db):
    invited_audience(db, spend=False)
    result = _diagnosed(db)
    assert [test.name for test in result.attributes] == ["region", "segment", "tenure (days)"]
    # Without purchases tenure runs from the customer's record, created today for everyone: nothing to test.
    tenure = _test(result, "tenure (days)")
    assert tenure.p_value is None and "same value" in tenure.note and "not tested" in tenure.verdict


def test_open_link_survey_has_no_audience(db):
    shop(db)
    answer(db, {"nps": 10})
    result = _diagnosed(db)
    assert (result.invited, result.response_rate, result.weighting) == (0, None, None)
    assert "open links" in result.summary


def test_a_category_without_respondents_cannot_be_weighted_and_says_so(db):
    invited_audience(db, spend=False)
    from voxpop.customers.models import Customer
    with db.write() as session:
        from sqlalchemy import select

        from voxpop.collection.service import create_invitation
        from voxpop.surveys.models import Survey
        survey = session.scalar(select(Survey).where(Survey.key == "shop"))
        for i in range(10):
            customer = Customer(external_id=f"gov-{i}", attributes={"segment": "Government", "region": "north"})
            session.add(customer)
            session.flush()
            create_invitation(db_session=session, survey=survey, customer=customer)
    result = _diagnosed(db, weight_by=["segment"])
    assert "segment 'Government' has no respondents" in result.weighting.error
    assert result.weighting.metrics == []


def _send(db, key: str, customers: set[str], survey: str = "shop") -> None:
    """A send of the survey holding the invitations of the customers with these external ids."""
    from sqlalchemy import select

    from voxpop.collection.models import Invitation
    from voxpop.customers.models import Customer
    from voxpop.distribution.models import Send, SendInvitation
    from voxpop.surveys.models import Survey

    with db.write() as session:
        survey_id = session.scalar(select(Survey.id).where(Survey.key == survey))
        send = Send(key=key, name=key, survey_id=survey_id)
        session.add(send)
        session.flush()
        rows = session.execute(select(Invitation.id, Invitation.customer_id).join(Customer)
                               .where(Customer.external_id.in_(customers)))
        session.add_all([SendInvitation(invitation_id=invitation, send_id=send.id, customer_id=customer, language="en")
                         for invitation, customer in rows])


def test_one_sends_invitations_make_the_audience(db):
    invited_audience(db, spend=False)
    # The send holds the first 30 of each segment: Enterprise 0–19 answered (20 of 30), SMB 0–29 all answered.
    _send(db, "wave-1", {f"{segment}-{i}" for segment in ("Enterprise", "SMB") for i in range(30)})
    result = _diagnosed(db, send="wave-1")
    assert (result.send, result.invited, result.responded) == ("wave-1", 60, 50)
    assert result.sends == ["wave-1"]
    segment = _test(result, "segment")
    assert [(category.value, category.invited, category.responded) for category in segment.categories] == [
        ("Enterprise", 30, 20), ("SMB", 30, 30)]
    assert segment.test == "chi-square"
    everyone = _diagnosed(db)
    assert (everyone.invited, everyone.sends) == (200, ["wave-1"])


def test_a_send_of_another_survey_is_refused(db):
    invited_audience(db, spend=False)
    from tests.helpers import apply_survey
    apply_survey(db)  # the feedback survey
    _send(db, "other", set(), survey="feedback")
    with pytest.raises(NonresponseError, match="another survey"):
        _diagnosed(db, send="other")


def _invite_orders(db, tmp_path, repeat_buyers: int) -> None:
    """60 customers from an order file (tests.customers: the first `repeat_buyers` buy again), all invited to the
    shop survey; the first 30 answer."""
    from sqlalchemy import select

    from tests.customers.test_lifetime_value import orders
    from voxpop.collection.models import Invitation
    from voxpop.collection.service import create_invitation, version_questions
    from voxpop.collection.writer import insert_response
    from voxpop.customers.models import Customer
    from voxpop.customers.service import import_transactions
    from voxpop.customers.transaction_files import read_transactions
    from voxpop.surveys.models import Survey

    import_transactions(db, read_transactions(orders(tmp_path / "orders.csv", repeat_buyers=repeat_buyers)))
    shop(db)
    with db.write() as session:
        survey = session.scalar(select(Survey).where(Survey.key == "shop"))
        customers = session.scalars(select(Customer).order_by(Customer.external_id)).all()
        for customer in customers:
            customer.attributes = {"segment": "SMB"}
            create_invitation(db_session=session, survey=survey, customer=customer)
        session.flush()
        invited = session.execute(select(Invitation.id, Customer.id).join(Customer)
                                  .order_by(Customer.external_id)).all()
        version_id, survey_id = survey.current_version.id, survey.id
        questions = version_questions(db_session=session, version_id=version_id)
    with db.write_connection() as connection:
        for invitation_id, customer_id in invited[:30]:
            insert_response(db_session=connection, survey_id=survey_id, version_id=version_id, questions=questions,
                            answers={"nps": 9}, language="en", channel="email", attributes={},
                            customer_id=customer_id, invitation_id=invitation_id)


def test_predicted_clv_of_respondents_against_non_respondents(db, tmp_path):
    from voxpop.analysis import sources
    from voxpop.analysis.customer_summary import customer_summary
    from voxpop.core.clv.value import customer_lifetime_value
    from voxpop.customers.service import fit_lifetime_value

    _invite_orders(db, tmp_path, repeat_buyers=30)
    assert "predicted CLV, next 12 months" not in [test.name for test in _diagnosed(db).attributes]
    result = _diagnosed(db, lifetime_value=True)
    clv = _test(result, "predicted CLV, next 12 months")
    # The customers page's models, fitted the same way: the first 30 customers (the repeat buyers) answered.
    engine = sources.store_connection(db.url)
    table = sources.store_transactions(engine)
    summary = customer_summary(table.filter(table.kind == "sale"), time_unit="week").execute()
    engine.disconnect()
    models = fit_lifetime_value(summary)
    values = dict(zip(summary.customer, customer_lifetime_value(
        models.purchases, models.spend, summary.frequency, summary.recency, summary["T"], summary.monetary_value,
        months=12, monthly_discount_rate=0.01, time_unit="week")))
    ordered = [values[f"c{number:03d}"] for number in range(60)]
    assert clv.means.respondents == pytest.approx(sum(ordered[:30]) / 30)
    assert clv.means.non_respondents == pytest.approx(sum(ordered[30:]) / 30)
    assert clv.means.respondents > clv.means.non_respondents and clv.test == "welch-t"


def test_clv_that_cannot_be_fitted_is_said(db, tmp_path):
    _invite_orders(db, tmp_path, repeat_buyers=1)
    result = _diagnosed(db, lifetime_value=True)
    assert any(skip.startswith("predicted CLV: Spend per purchase (Gamma-Gamma) needs at least 2 customers")
               for skip in result.skipped)


def _first_purchases(db) -> None:
    """Enterprise customers first bought 30 days before their invitation, SMB ones 500 days before."""
    from datetime import date, timedelta

    from sqlalchemy import select

    from voxpop.customers.models import Customer, Transaction

    with db.write() as session:
        for customer_id, external_id in session.execute(select(Customer.id, Customer.external_id)):
            days = 30 if external_id.startswith("Enterprise") else 500
            session.add(Transaction(customer_id=customer_id, source_key=f"first-{external_id}", kind="sale",
                                    day=date.today() - timedelta(days=days), amount=50.0))


def test_tenure_is_raked_in_bands_when_it_differs(db):
    invited_audience(db, spend=False)
    _first_purchases(db)
    result = _diagnosed(db)
    assert result.weightable == ["region", "segment", "tenure"]
    tenure = _test(result, "tenure (days)")
    assert tenure.differs and tenure.means.respondents == pytest.approx((20 * 30 + 60 * 500) / 80)
    weighting = result.weighting
    assert weighting.by == ["segment", "tenure"] and weighting.error is None
    nps = next(metric for metric in weighting.metrics if metric.question == "nps")
    assert nps.weighted.value == pytest.approx(WEIGHTED_NPS)  # the bands follow the segments here
    asked = _diagnosed(db, weight_by=["tenure"]).weighting
    assert asked.by == ["tenure"] and asked.largest_weight == pytest.approx(5.0)


def test_one_tenure_band_is_not_offered(db):
    invited_audience(db)  # everyone first bought 800 to 806 days ago: one band
    assert _diagnosed(db).weightable == ["region", "segment"]
    with pytest.raises(NonresponseError, match="offered: region, segment"):
        _diagnosed(db, weight_by=["tenure"])

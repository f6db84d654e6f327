"""The demo's free-text comments, composed from parts so that they read like real feedback.

A comment is built from one to three clauses about the topics customers write about (the themes of the default
codebook: delivery, product quality, price, staff and support, the app and website, returns and refunds, waiting),
each clause good or bad news with its specifics (days late, minutes on hold, the product), joined as people
join them ("Friendly staff, but I had to call three times before anyone fixed my order."), sometimes with an
opening, a bit of context or a closing line. Its tone follows the score: detractors mostly complain, promoters
mostly praise, and some of each say both. German respondents write German. Everything is drawn from the
caller's random generator, so a seeded demo is the same every time.
"""

from __future__ import annotations

import random

# Each topic's clauses: good news, then bad news. Placeholders are filled with SPECIFICS.
TOPICS_EN: dict[str, tuple[list[str], list[str]]] = {
    "delivery": ([
        "fast delivery", "the parcel arrived a day early, great", "delivery was quick and the tracking was spot on",
        "the courier was friendly and right on time", "it was delivered within {days} days, as promised",
        "free shipping and the package came the next day", "tracking updates all the way, really reassuring",
    ], [
        "late delivery, again", "parcel arrived damaged",
        "the parcel arrived {days} days late and nobody told me why", "delivery took forever, so frustrating",
        "the tracking showed nothing for a week, useless",
        "the courier left the package out in the rain and it got ruined",
        "my order never arrived and I had to chase it, terrible",
        "the box arrived crushed and the {product} was scratched", "late delivery again, the second time this year",
        "shipping was slow and the updates were useless",
    ]),
    "quality": ([
        "great quality", "the {product} is really well made", "solid stitching and a lovely fabric",
        "the {product} is durable, it still looks new after a season of hiking", "excellent quality for the price",
        "the material feels durable and comfortable",
        "brilliant material, the {product} kept me dry through a week in {place}",
    ], [
        "poor quality",
        "sadly the {product} fell apart after {weeks} weeks", "the zip broke on the first trip",
        "flimsy material, disappointing quality", "the stitching came loose after one wash",
        "the {product} was faulty out of the box", "poor quality, the sole came off in {place}",
        "the fabric pills and looks worn out already, poor quality",
    ]),
    "price": ([
        "good value for money", "fair prices", "the discount code made it a bargain",
        "cheaper than the big outdoor shops, nice", "the price is worth it for the quality",
    ], [
        "far too expensive for what you get, a shame", "the shipping costs were a nasty surprise at checkout",
        "prices went up by {percent}% since last season, which is unfair", "overpriced",
        "a total rip off compared to other shops, sad", "expensive, and the discount code was rejected",
    ]),
    "staff": ([
        "the staff in the {city} store were really helpful", "friendly staff who knew their products",
        "the manager kindly went out of her way to find my size", "lovely, helpful staff",
        "the agent on the phone was polite, helpful and sorted everything out",
    ], [
        "rude staff",
        "the staff were rude when I asked about sizes", "unhelpful staff who did not know the products",
        "the staff in the {city} store were rude and ignored me", "the manager was dismissive and impolite",
    ]),
    "support": ([
        "very helpful agent",
        "customer service sorted it out in five minutes, excellent",
        "the agent was friendly and knew exactly what to do",
        "the support team kindly sent a replacement the same day", "clear answer from customer service, no fuss",
        "the chat agent was quick and helpful",
    ], [
        "I had to call customer service three times before anyone fixed my order",
        "the agent could not answer a simple question, hopeless",
        "customer service passed me between three agents, a frustrating mess",
        "the chat agent left before my question was answered, useless",
        "the support team ignored my e-mails for days", "unhelpful customer service",
    ]),
    "app": ([
        "great app",
        "the app is easy to use", "checkout on the website was quick and easy",
        "the new website is much clearer and nicer", "ordering in the app was quick and simple",
        "the website's size guide is genuinely useful",
    ], [
        "the app keeps crashing",
        "the app crashed at checkout, twice", "I could not log in after the app update, annoying",
        "the website kept losing my basket", "the app is buggy and slow since the last update",
        "the checkout page froze when I tried to pay", "the password reset on the website is broken",
    ]),
    "signup": ([
        "easy sign-up online",
        "signing up in the app took two minutes, nice and easy", "very smooth sign-up on the website, well done",
        "setting up my account online was easy, clear steps", "the app walked me through everything nicely",
    ], [
        "the login never worked",
        "the app would not log me in after sign-up, frustrating", "the payment page kept rejecting my card",
        "far too many fields on the profile page, tedious",
        "the login link in the e-mail did not work, which was a pain",
        "I waited an hour for the verification e-mail from the app",
    ]),
    "returns": ([
        "easy returns, great",
        "easy returns, no questions asked", "the refund came within {days} days, great service",
        "the exchange for a bigger size was quick and easy", "free returns made it easy to try two sizes",
    ], [
        "refund still missing",
        "the refund still has not arrived after {weeks} weeks", "returning it was a hassle and a waste of time",
        "they refused the exchange because the tag was cut", "I paid for the return myself, which is annoying",
    ]),
    "wait": ([
        "no waiting, great",
        "hardly any wait on the phone, great", "the queue at the till moved fast and the staff were lovely",
        "no waiting, they answered my e-mail within an hour, perfect",
    ], [
        "awful wait on hold",
        "I waited {minutes} minutes on hold", "a terribly long queue at the till and only one person serving",
        "waited a week for a reply to my e-mail", "the queue on the phone line was ridiculous",
    ]),
}
TOPICS_DE: dict[str, tuple[list[str], list[str]]] = {
    "delivery": ([
        "schnelle Lieferung", "das Paket kam einen Tag früher als angekündigt", "Versand und Sendungsverfolgung top",
        "der Paketbote war freundlich und pünktlich",
    ], [
        "das Paket kam {days} Tage zu spät und niemand hat Bescheid gesagt", "die Lieferung hat ewig gedauert",
        "die Sendungsverfolgung zeigte eine Woche lang nichts", "der Karton war eingedrückt",
    ]),
    "quality": ([
        "tolle Qualität", "die Jacke ist super verarbeitet",
        "das Zelt hat eine Woche Regen in {place_de} überstanden", "sehr robustes Material",
    ], [
        "das Zelt war nach {weeks} Wochen kaputt", "der Reißverschluss ist gleich beim ersten Ausflug gerissen",
        "die Nähte lösen sich schon nach einer Wäsche", "enttäuschende Qualität",
    ]),
    "price": ([
        "gutes Preis-Leistungs-Verhältnis", "faire Preise", "mit dem Rabattcode ein echtes Schnäppchen",
    ], [
        "zu teuer",
        "viel zu teuer für das, was man bekommt", "die Versandkosten waren eine böse Überraschung",
        "die Preise sind seit letzter Saison um {percent}% gestiegen",
    ]),
    "staff": ([
        "nettes Personal",
        "sehr freundliche Beratung im Laden", "das Personal kannte sich richtig gut aus",
    ], [
        "das Personal war unfreundlich", "im Laden wollte mir niemand helfen",
    ]),
    "support": ([
        "super Kundenservice",
        "der Kundenservice hat alles in fünf Minuten gelöst", "die Mitarbeiterin am Telefon war sehr hilfsbereit",
    ], [
        "Kundenservice unerreichbar",
        "ich musste dreimal anrufen, bis jemand meine Bestellung korrigiert hat",
        "zweimal geschrieben, nie eine Antwort bekommen",
    ]),
    "app": ([
        "tolle App",
        "die App ist einfach zu bedienen", "die Bestellung über die Website ging schnell",
    ], [
        "die App ist beim Bezahlen abgestürzt", "die Website ist unübersichtlich",
        "nach dem Update kann ich mich in der App nicht mehr anmelden",
    ]),
    "signup": ([
        "schnelle Anmeldung",
        "die Anmeldung hat zwei Minuten gedauert",
    ], [
        "Anmeldung klappt nicht",
        "die Anmeldung in der App hat nicht funktioniert",
    ]),
    "returns": ([
        "die Rücksendung war unkompliziert", "das Geld war nach {days} Tagen zurück",
    ], [
        "die Rücksendung dauerte Wochen", "die Erstattung fehlt nach {weeks} Wochen immer noch",
    ]),
    "wait": ([
        "kaum Wartezeit am Telefon",
    ], [
        "ewige Warteschleife",
        "{minutes} Minuten in der Warteschleife", "eine Woche auf eine Antwort gewartet",
    ]),
}
SPECIFICS = {
    "days": [str(n) for n in range(2, 10)],
    "weeks": [str(n) for n in range(2, 7)],
    "minutes": [str(n) for n in range(15, 75, 5)],
    "percent": [str(n) for n in range(10, 35, 5)],
    "product": ["tent", "jacket", "rain jacket", "backpack", "sleeping bag", "fleece", "hiking boots"],
    "place": ["the Lake District", "Norway", "the Alps", "Snowdonia", "the Highlands", "the Peak District"],
    "place_de": ["den Alpen", "Norwegen", "dem Schwarzwald", "der Sächsischen Schweiz"],
    "city": ["Manchester", "Leeds", "Bristol", "Edinburgh", "Utrecht", "Malmö"],
}
SHORT_WORDS = 4  # every topic has a clause this short on each side, for the shortest comments
# Openings and closings by the comment's leaning, and context that leans neither way.
OPENINGS = {
    "en": {"good": ["Really happy.", "Great experience overall.", "Second order and again very happy.", "Brilliant!",
                    "Honestly impressed."],
           "bad": ["Disappointed.", "Not happy at all.", "Frustrating experience.", "What a mess.",
                   "I expected better."]},
    "de": {"good": ["Sehr zufrieden.", "Super!", "Alles bestens."],
           "bad": ["Enttäuschend.", "Leider nicht zufrieden.", "Ärgerlich."]},
}
CLOSINGS = {
    "en": {"good": ["Will order again.", "Thank you!", "Highly recommend.", "Keep it up.", "Five stars from me."],
           "bad": ["Please sort this out.", "I will think twice before ordering again.", "Not good enough.",
                   "Really disappointing."]},
    "de": {"good": ["Gerne wieder.", "Vielen Dank!", "Klare Empfehlung."],
           "bad": ["Bitte verbessern.", "So nicht.", "Schade."]},
}
CONTEXT = {
    "en": ["I bought the {product} for a trip to {place}.", "It was a present for my dad.",
           "I have been a customer for {weeks} years.", "This was my first order with you.",
           "We go camping most weekends, so we need gear that lasts."],
    "de": ["Ich habe das Zelt für eine Tour in {place_de} gekauft.", "Es war ein Geschenk für meinen Vater.",
           "Ich bin seit {weeks} Jahren Kundin."],
}
BUT = {"en": "but", "de": "aber"}
AND = {"en": "and", "de": "und"}
# How a comment leans, by the NPS group (or the like on other scales) of its score: its main point good or bad
# news, and whether it says something of the other side first.
TONES = {
    "detractor": {("bad", False): 78, ("bad", True): 17, ("good", False): 5},
    "passive": {("bad", False): 15, ("bad", True): 30, ("good", True): 30, ("good", False): 25},
    "promoter": {("good", False): 84, ("good", True): 14, ("bad", False): 2},
}
# What each survey's comments are about, and how often.
SUBJECTS = {
    "post-purchase": {"delivery": 30, "quality": 25, "price": 15, "app": 10, "returns": 10, "staff": 10},
    "support-csat": {"support": 45, "wait": 25, "returns": 15, "delivery": 15},
    "onboarding-ces": {"signup": 65, "app": 25, "support": 10},
}


def comment(rng: random.Random, *, survey: str, group: str, language: str = "en", focus: str | None = None) -> str:
    """A comment to one of the demo's surveys from a customer of this NPS `group` (detractor, passive or
    promoter), in English or German; `focus` names a topic it is about (the buggy app release, December's late
    parcels)."""
    main, mixed = _pick(rng, TONES[group])
    topics = TOPICS_DE if language == "de" else TOPICS_EN
    subjects = dict(SUBJECTS[survey])
    first = focus if focus in subjects else _pick(rng, subjects)
    subjects.pop(first)
    length = rng.random()
    clauses = [_clause(rng, topics, first, main, short=length < 0.15 and not mixed)]
    if mixed:  # the other side first, the customer's point after "but"
        other = _pick(rng, subjects)
        subjects.pop(other)
        clauses.insert(0, _clause(rng, topics, other, "bad" if main == "good" else "good"))
        sentences = [f"{_capital(clauses[0])}, {BUT[language]} {clauses[1]}."]
    elif length < 0.45:
        sentences = [_capital(clauses[0]) + ("!" if main == "good" and rng.random() < 0.4 else ".")]
    else:
        second = _pick(rng, subjects)
        subjects.pop(second)
        clauses.append(_clause(rng, topics, second, main))
        if rng.random() < 0.5:
            sentences = [f"{_capital(clauses[0])}, {AND[language]} {clauses[1]}."]
        else:
            sentences = [f"{_capital(clauses[0])}.", f"{_capital(clauses[1])}."]
    if length > 0.85:  # a longer comment: one more point the same way, and some context
        sentences.append(_capital(_clause(rng, topics, _pick(rng, subjects), main)) + ".")
        sentences.insert(0, _filled(rng, rng.choice(CONTEXT[language])))
    if rng.random() < 0.2:
        sentences.insert(0, rng.choice(OPENINGS[language][main]))
    if rng.random() < 0.25:
        sentences.append(rng.choice(CLOSINGS[language][main]))
    return " ".join(sentences)


def _clause(rng: random.Random, topics: dict[str, tuple[list[str], list[str]]], topic: str, side: str, *,
            short: bool = False) -> str:
    """Good or bad news about a topic; `short`: a few words ("fast delivery")."""
    clauses = topics[topic][0 if side == "good" else 1]
    if short:
        clauses = [clause for clause in clauses if len(clause.split()) <= SHORT_WORDS]
    return _filled(rng, rng.choice(clauses))


def _filled(rng: random.Random, text: str) -> str:
    return text.format_map({name: rng.choice(values) for name, values in SPECIFICS.items() if "{" + name in text})


def _pick(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]

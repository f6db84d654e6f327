"""A survey with an ordered scale, "Other" options and three pages, for the collection and browser tests."""

SHOP = """
key: shop
title: {en: "Our shop", de: "Unser Laden"}
status: live
languages: [en, de]
questions:
  - key: helpful
    kind: single_choice
    ordered: true
    required: true
    text: {en: "The staff were helpful.", de: "Das Personal war hilfsbereit."}
    options:
      - {value: disagree, label: {en: Disagree, de: Stimme nicht zu}}
      - {value: neutral, label: {en: Neither, de: Weder noch}}
      - {value: agree, label: {en: Agree, de: Stimme zu}}
  - key: bought
    kind: multiple_choice
    other: {en: "Something else", de: "Etwas anderes"}
    text: {en: "What did you buy?", de: "Was haben Sie gekauft?"}
    options: [{value: boots, label: {en: Boots, de: Stiefel}}, {value: tents, label: {en: Tents, de: Zelte}}]
  - key: found
    kind: single_choice
    page_break: true
    other: true
    text: {en: "How did you find us?", de: "Wie haben Sie uns gefunden?"}
    options: [{value: search, label: {en: A search, de: Eine Suche}}, {value: friend, label: {en: A friend, de: Freunde}}]
  - key: missing
    kind: text
    show_if: {question: bought, eq: other}
    text: {en: "What else should we sell?", de: "Was sollten wir noch verkaufen?"}
  - key: nps
    kind: nps
    page_break: true
    required: true
    text: {en: "How likely are you to recommend us?", de: "Wie wahrscheinlich empfehlen Sie uns?"}
"""

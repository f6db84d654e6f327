"""A small live survey whose store attribute lists its values, for the QR, widget and allowed-values tests."""

STORES = """
key: instore
title: {en: "Your visit", de: "Ihr Besuch"}
status: live
languages: [en, de]
attributes: [channel, {key: store, values: [Berlin, München, Hamburg]}]
questions:
  - key: nps
    kind: nps
    required: true
    text: {en: "How likely are you to recommend us?", de: "Wie wahrscheinlich empfehlen Sie uns?"}
  - key: csat
    kind: csat
    text: {en: "How satisfied are you?", de: "Wie zufrieden sind Sie?"}
    anchors: {low: {en: "Not at all", de: "Gar nicht"}, high: {en: "Completely", de: "Völlig"}}
  - key: why
    kind: text
    text: {en: "Why?", de: "Warum?"}
"""

"""The balanced scorecard: perspectives, objectives and measures bound to live data, scored as the anchors
document and honest about noise, with a strategy map whose links are tested on the data."""

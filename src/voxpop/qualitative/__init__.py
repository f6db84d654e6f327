"""Qualitative sources: focus groups and interviews imported as transcripts, their turns analysed like comments."""

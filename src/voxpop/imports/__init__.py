"""Importing responses from the export files of other survey tools."""

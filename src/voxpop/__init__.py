"""voxpop: customer focus, put into practice and measured."""

__version__ = "0.1.0"

"""porthook: number-porting (LNP port-in) orders and the notifications around them."""

__version__ = "0.1.0"

"""segcli: customer segmentation for e-commerce stores, on the merchant's own data."""

__version__ = "0.1.0"

"""Pictures of what a method sees (label maps, BPKD's edge band)."""
from .seg import colorize, edge_band_maps

__all__ = ['colorize', 'edge_band_maps']

from .cross_attention import (attention_memory_bytes, cross_attention,
                              naive_attention, sdpa_backend)
from .edge_band import dense_edge_band, gt_edge_band, valid_label_mask

__all__ = [
    'dense_edge_band', 'gt_edge_band', 'valid_label_mask', 'cross_attention',
    'naive_attention', 'sdpa_backend', 'attention_memory_bytes'
]

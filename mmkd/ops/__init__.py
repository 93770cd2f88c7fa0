from .cross_attention import (attention_memory_bytes, cross_attention,
                              naive_attention, sdpa_backend)
from .edge_band import dense_edge_band, gt_edge_band, valid_label_mask
from .prototypes import (at_least_fp32, maps_to_tokens, prototype_attention,
                         tokens_to_maps, vlad_residuals,
                         vlad_residuals_literal)

__all__ = [
    'dense_edge_band', 'gt_edge_band', 'valid_label_mask', 'cross_attention',
    'naive_attention', 'sdpa_backend', 'attention_memory_bytes',
    'vlad_residuals', 'vlad_residuals_literal', 'prototype_attention',
    'maps_to_tokens', 'tokens_to_maps', 'at_least_fp32'
]

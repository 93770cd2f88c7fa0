"""Optimizer constructors: layer-wise learning-rate decay for ViT backbones
(G2SD's specific stage)."""
from .layer_decay import ViTLayerDecayOptimWrapperConstructor, vit_layer_depth

__all__ = ['ViTLayerDecayOptimWrapperConstructor', 'vit_layer_depth']

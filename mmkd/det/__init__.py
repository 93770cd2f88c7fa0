"""Detector-side methods that are not teacher-student: D-FINE FDR + GO-LSD
(Fine-grained Distribution Refinement and Global Optimal Localization
Self-Distillation) for MMDetection's DETRs."""
from .deformable_fdr import (DeformableDETRFDR, DeformableDETRFDRDecoder,
                             DeformableDETRFDRHead)
from .dino_fdr import DINOFDR, DINOFDRDecoder
from .dino_fdr_head import DINOFDRHead
from .fdr_head import LQE, FDRHeadMixin
from .fdr_ops import (FDRTrace, bbox2distance, box_cxcywh_to_xyxy_clamped,
                      distance2bbox, distribution_integral, translate_gt,
                      weighting_function)
from .losses import DDFLoss, FGLLoss, ddf_loss, fgl_loss, varifocal_loss
from .union import (assign_result_to_pairs, union_matches,
                    union_matches_batch)

__all__ = [
    'DINOFDR', 'DINOFDRDecoder', 'DINOFDRHead', 'DeformableDETRFDR',
    'DeformableDETRFDRDecoder', 'DeformableDETRFDRHead', 'FDRHeadMixin', 'LQE',
    'FDRTrace', 'weighting_function', 'distribution_integral', 'distance2bbox',
    'bbox2distance', 'translate_gt', 'box_cxcywh_to_xyxy_clamped',
    'FGLLoss', 'DDFLoss', 'fgl_loss', 'ddf_loss', 'varifocal_loss',
    'union_matches', 'union_matches_batch', 'assign_result_to_pairs'
]

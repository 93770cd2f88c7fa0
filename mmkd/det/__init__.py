"""Detector-side parts: D-FINE FDR + GO-LSD (Fine-grained Distribution
Refinement and Global Optimal Localization Self-Distillation) for
MMDetection's DETRs, and ViTDet's pyramid and a tappable RPN head for G2SD's
detection specific stage."""
from .assign import BatchGT, batch_gt, image_factors, union_assignment
from .deformable_fdr import (DeformableDETRFDR, DeformableDETRFDRDecoder,
                             DeformableDETRFDRHead)
from .dino_fdr import DINOFDR, DINOFDRDecoder
from .dino_fdr_head import DINOFDRHead
from .fdr_head import LQE, FDRHeadMixin
from .fdr_ops import (FDRTrace, aligned_iou, bbox2distance,
                      box_cxcywh_to_xyxy_clamped, distance2bbox,
                      distribution_integral, run_fdr_decoder, translate_gt,
                      weighting_function)
from .losses import DDFLoss, FGLLoss, ddf_loss, fgl_loss, varifocal_loss
from .vitdet import FRSRPNHead, LN2d, SimpleFPN

__all__ = [
    'DINOFDR', 'DINOFDRDecoder', 'DINOFDRHead', 'DeformableDETRFDR',
    'DeformableDETRFDRDecoder', 'DeformableDETRFDRHead', 'FDRHeadMixin', 'LQE',
    'FDRTrace', 'weighting_function', 'distribution_integral', 'distance2bbox',
    'bbox2distance', 'translate_gt', 'box_cxcywh_to_xyxy_clamped',
    'aligned_iou', 'run_fdr_decoder', 'FGLLoss', 'DDFLoss', 'fgl_loss',
    'ddf_loss', 'varifocal_loss', 'BatchGT', 'batch_gt', 'image_factors',
    'union_assignment', 'LN2d', 'SimpleFPN', 'FRSRPNHead'
]

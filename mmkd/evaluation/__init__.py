from .boundary import SegBoundaryMetricAccumulator, class_boundary

__all__ = ['SegBoundaryMetricAccumulator', 'class_boundary']

from .edge_band import dense_edge_band, gt_edge_band, valid_label_mask

__all__ = ['dense_edge_band', 'gt_edge_band', 'valid_label_mask']

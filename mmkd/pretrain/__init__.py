"""MMPretrain-side algorithms: G2SD's generic stage (a frozen MAE teacher's
decoder hidden states as targets for a small MAE student)."""
from .g2sd import G2SD
from .mae import G2SDFeatDecoder, G2SDMAETeacher, G2SDViT

__all__ = ['G2SD', 'G2SDViT', 'G2SDFeatDecoder', 'G2SDMAETeacher']

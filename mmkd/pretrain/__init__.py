"""MMPretrain-side parts of G2SD: the generic stage (a frozen MAE teacher's
decoder hidden states as targets for a small MAE student) and the
classification specific stage's distilled ViT and head."""
from .distilled_vit import G2SDDeiTClsHead, G2SDDistilledViT
from .g2sd import G2SD
from .mae import G2SDFeatDecoder, G2SDMAETeacher, G2SDViT

__all__ = [
    'G2SD', 'G2SDViT', 'G2SDFeatDecoder', 'G2SDMAETeacher', 'G2SDDistilledViT',
    'G2SDDeiTClsHead'
]

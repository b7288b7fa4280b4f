"""Photos: validation of the sources and the credited variants made from them.

The only package importing Pillow, and only when it opens a picture (a source, or a cached variant
for its size): a build of releases without photos never loads it. `check` opens and checks sources
(the one photo validation of `check`, `build` and `email`), `image` decodes, credits and encodes one
source, `variants` makes and caches every variant in parallel, `meta` writes the IPTC/XMP/EXIF credit
metadata.
"""

from .check import CheckMemo, PhotoProblem, check_photo, check_release_photos, photo_warnings, validate_photos
from .variants import PhotoResult, make_variants, run_job, variant_relpath

__all__ = [
    "CheckMemo", "PhotoProblem", "PhotoResult", "check_photo", "check_release_photos", "make_variants",
    "photo_warnings", "run_job", "validate_photos", "variant_relpath",
]

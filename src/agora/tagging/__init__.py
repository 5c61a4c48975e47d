"""Auto-tagging: taxonomy, zero-shot and trained taggers, file analysis, consent-aware router.

Example:
    >>> from agora.tagging import Taxonomy
    >>> Taxonomy.default().resolve("spritesheet")
    ('object_type', 'sprite_sheet')
"""

from agora.tagging.aggregate import aggregate, calculate_quality_score, count_model_agreements
from agora.tagging.base import Tag, TaggingInput
from agora.tagging.files import analyse_files
from agora.tagging.heads import TagHeads
from agora.tagging.router import ConsentRequired, ProcessingOptions
from agora.tagging.taxonomy import Taxonomy

__all__ = [
    "ConsentRequired",
    "ProcessingOptions",
    "Tag",
    "TagHeads",
    "TaggingInput",
    "Taxonomy",
    "aggregate",
    "analyse_files",
    "calculate_quality_score",
    "count_model_agreements",
]

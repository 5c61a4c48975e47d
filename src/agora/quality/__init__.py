"""Asset quality and upload security (issue 23).

One subpackage per check, each with its own pipeline step: ``duplicates``
(near-duplicate and re-upload detection); 3D validation, malware scanning and
the quality/risk scores live beside it.
"""

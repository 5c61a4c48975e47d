"""Asset quality and upload security: duplicates, 3D validation, malware scanning, scores."""

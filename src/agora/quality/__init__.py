"""Asset quality: duplicates, 3D validation, malware scanning, quality and risk scores."""

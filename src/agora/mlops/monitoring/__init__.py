"""Model monitoring as scheduled tasks: the entry points of the drift, retraining
trigger, canary and fallback-rate checks (``agora.mlops.monitoring.tasks``)."""

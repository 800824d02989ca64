"""The Prefect flows, the deployments, the `rehab` command and the composition root."""

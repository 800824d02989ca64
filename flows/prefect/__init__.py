"""The Prefect side: the port, the real adapter and its fake, forms, auth, the server, the
saved views, the deployments."""

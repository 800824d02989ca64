"""The long-lived processes: `rehab up`, the runner, the mail catcher, the Prefect server's main."""

"""What a plan is: the plan file's schema, the partner and staff directories, templates."""

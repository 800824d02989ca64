"""The programme report: counting from the case history, disclosure control and rendering.

Pure: it reads plain facts handed to it (casework/store/report_source.py reads them from the store)
and imports no database, Prefect or apprise."""

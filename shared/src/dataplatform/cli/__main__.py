"""`python -m dataplatform.cli`: how the orchestrator starts its children with its own interpreter."""

from dataplatform.cli import main

main()

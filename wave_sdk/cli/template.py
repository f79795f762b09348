"""The commented ``wave.toml`` that ``wave init`` writes."""

WAVE_TOML = """\
# wave.toml — the deployment runbook of this project, read by `wave`.
# Reference: docs/reference/configuration.md, or `wave config schema`.

[project]
name = "my-app"

# The runbook's emergency contacts, by role: a failure message names those it needs
# (on-call always; the database admin, devops or the tech lead when it fits).
[project.contacts]
on_call = ["oncall@example.com"]
# tech_lead = ["lead@example.com"]
# devops = ["ops@example.com"]
# database_admin = ["dba@example.com"]

# Environments map branches to targets. Production is never deployed automatically.
[environments.development]
branch = "feature/*"
auto_deploy = true
target = "web"
checks = ["test"]

[environments.staging]
branch = "develop"
auto_deploy = true
target = "web"

[environments.production]
branch = "main"
target = "web"

# A target names its adapter (`wave adapters` lists them) plus that adapter's own keys.
[targets.web]
adapter = "local"
source = "."                 # directory deployed as a release (.git and .wave are left out)
command = "python3 server.py" # your app's start command, run in the release directory
port = 3000                   # the app must listen on $PORT and answer the [health] endpoints
# env = { API_TOKEN = "${API_TOKEN}" }   # ${VAR} comes from the environment and never prints

# Checks are commands; an environment lists the ones it must pass before deploying.
[checks.test]
command = "true"

# Approval matrix: L1 human, L2 CTO, L3 PM, L4 QA, L5 automatic. Defaults are the runbook's:
# deploy/config/rollback L5 in development, L3 in staging, L1 in production;
# migration L4, L2, L1.
# [approvals]
# deploy = { staging = "L3" }

# HTTP verification after a deploy (defaults shown).
[health]
endpoints = [
  { path = "/api/health" },
  { path = "/api/health/db" },
  { path = "/api/health/external" },
]
timeout = 5.0        # seconds per request
consecutive = 2      # passing rounds in a row
retries = 10         # failed rounds tolerated
deadline = 60.0      # seconds in all

[signals]
dir = ".claude"      # where deployment-starting / -complete and rollback-complete are written

[state]
store = "local"
path = ".wave/state"
"""

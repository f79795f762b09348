"""The runbook's checklist lines, by the name of the check that answers each.

``wave check`` prints the line next to the check's mark, so that the checklist reads as the
runbook's own (DEPLOYMENT-RUNBOOK.md, "Pre-Deployment Checklist" and "Post-Deployment
Verification"), and a line nothing answers is visible instead of missing. The technical
lines belong to the project's own commands (``[checks.<name>]``): a command check takes its
line from ``item``, else from its name when that is one of the conventional ones below.
"""

from __future__ import annotations

ITEMS: dict[str, str] = {
    # Gate 7 Completion Requirements
    "gate7-stories": "All stories in wave marked complete",
    "gate7-qa": "All QA validations passed (Gate 4)",
    "gate7-escalations": "No open ESCALATION signals",
    "gate7-violations": "No active violations in VIOLATIONS.log",
    "gate7-budget": "Budget under limit",
    "gate7-merge": "All worktree branches have clean merges to target",
    "gate7-approval": "PM approval signal exists: signal-wave[N]-gate7-merge-approved.json",
    # Technical Checklist
    "build": "Build passes: npm run build",
    "typecheck": "TypeScript check passes: npm run typecheck",
    "lint": "Lint passes: npm run lint",
    "test": "All tests pass: npm test",
    "audit": "No security vulnerabilities: npm audit",
    "bundle-size": "Bundle size acceptable",
    "migrations-ready": "Database migrations ready (if any)",
    # Documentation Checklist
    "changelog": "CHANGELOG updated",
    "api-docs": "API documentation updated (if changed)",
    "readme": "README updated (if needed)",
    "validation-report": "VALIDATION-REPORT.md generated",
    # Communication Checklist
    "deployment-starting": "Team notified of upcoming deployment",
    "stakeholders": "Stakeholders aware of changes",
    "on-call": "On-call engineer identified",
    "rollback-plan": "Rollback plan documented",
    # Smoke Test Checklist (post-deployment)
    "application-loads": "Application loads",
    "authentication": "Authentication works",
    "critical-flows": "Critical user flows work",
    "api-endpoints": "API endpoints respond",
    "database-queries": "Database queries succeed",
    "external-integrations": "External integrations work",
    "console-errors": "No console errors",
    "performance": "Performance acceptable",
    # Monitoring Verification (post-deployment)
    "metrics-normal": "Application metrics normal",
    "error-rate": "Error rate within threshold",
    "response-times": "Response times acceptable",
    "log-patterns": "No new error patterns in logs",
    "alerts": "Alerts configured and working",
}
"""Check name → the runbook's line it answers."""

TECHNICAL = ("build", "typecheck", "lint", "test", "audit", "bundle-size")
"""The technical lines answered by the project's commands, by conventional check name."""

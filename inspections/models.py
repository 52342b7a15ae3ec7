# Inspectors, planning, visits and findings arrive with the inspections issue.

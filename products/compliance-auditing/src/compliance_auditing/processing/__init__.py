"""What compliance-auditing computes: its silver and gold models.

The models arrive with the processing engine (issue 4) and this product's own issue; until then the
product declares its tables (storage) but computes nothing.
"""

"""Everything computed from records: scoring (one pure function per suite), tables, the report."""

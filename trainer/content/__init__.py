"""Content files (modules/, question_bank/): parse, validate, render. Errors are path:line."""

"""Schools: a bureau's hierarchy (districts, schools, grades, classes) on the platform's department tree, its students
and their guardians, the staff's scoped roles, class groups that follow the roster, the import of the whole hierarchy
and the school year's rollover. See schools/DESIGN.md."""

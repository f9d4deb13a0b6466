"""Services: the work behind each page, on db.session; they flush, views commit."""

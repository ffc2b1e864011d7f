"""The database adapter: SQLAlchemy Core tables, repositories, the unit of work, migrations."""

"""What BGW data is: the entities and their columns, canonical values, errors, Arrow schemas."""

"""Visit planning: who is due, travel times, routing on a real VRP solver."""

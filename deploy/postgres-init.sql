-- Temporal keeps its own databases beside Shipshape's.
CREATE DATABASE temporal;
CREATE DATABASE temporal_visibility;

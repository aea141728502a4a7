"""Reading and writing files: guarded readers, schemas, workbook writers."""

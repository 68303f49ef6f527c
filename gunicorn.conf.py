# gunicorn reads this file from its working directory (the image's /app). Each request
# is logged once, through the project's logging (clinic.access_log): tokens masked, no
# query string, no client address, plain or JSON as LOG_FORMAT says.
logger_class = "clinic.access_log.AccessLogger"

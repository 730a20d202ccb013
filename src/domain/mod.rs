//! Pure rules: no actix, no diesel, no I/O. (Time zones, recurrence, availability, iCalendar and
//! channel rules arrive here with their issues.)

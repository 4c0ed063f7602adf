//! vertex adapter (in progress)

"""nbgrader's student side: which course, and where its exchange is (the same as the instructor's)."""
import os

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "@COURSE_ID@"
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", "@EXCHANGE@")

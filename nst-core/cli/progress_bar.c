/* placeholder */ typedef int nst_placeholder_pb;

/* placeholder: the owner of this domain replaces it */
typedef int nst_placeholder_layers;

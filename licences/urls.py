from django.urls import path

from licences import views, views_portal, views_public, views_staff

staff_patterns = [
    path("holders/", views.holder_list, name="holder-list"),
    path("holders/new/", views.holder_create, name="holder-create"),
    path("holders/<int:pk>/", views.holder_detail, name="holder-detail"),
    path("holders/<int:pk>/edit/", views.holder_edit, name="holder-edit"),
    path("holders/<int:holder_pk>/sites/new/", views_staff.site_create, name="holder-site-create"),
    path("holders/<int:holder_pk>/products/new/", views_staff.product_create, name="holder-product-create"),
    path("holders/<int:holder_pk>/applications/new/", views_staff.application_create, name="application-create"),
    path("applications/", views_staff.application_list, name="application-list"),
    path("applications/<int:pk>/", views_staff.application_detail, name="application-detail"),
    path("applications/<int:pk>/action/", views_staff.application_action, name="application-action"),
    path("applications/<int:pk>/pack.pdf", views_staff.application_pack, name="application-pack"),
    path("applications/<int:pk>/signed.pdf", views_staff.application_signed_copy, name="application-signed-copy"),
    path("licences/", views_staff.licence_list, name="licence-list"),
    path("licences/<int:pk>/", views_staff.licence_detail, name="licence-detail"),
    path("licences/<int:pk>/decide/", views_staff.licence_decide, name="licence-decide"),
    path("licences/<int:pk>/sanction/", views_staff.licence_sanction, name="licence-sanction"),
    path("licences/<int:pk>/appeal/", views_staff.licence_appeal, name="licence-appeal"),
    path("licences/<int:pk>/issue/", views_staff.licence_issue, name="licence-issue"),
    path("licences/<int:pk>/results.pdf", views_staff.licence_results, name="licence-results"),
    path("sanctions/<int:pk>/lift/", views_staff.sanction_lift, name="sanction-lift"),
    path("appeals/<int:pk>/", views_staff.appeal_update, name="appeal-update"),
    path("certificates/<int:pk>/pdf/", views_staff.certificate_pdf, name="certificate-pdf"),
    path("products/<int:pk>/edit/", views_staff.product_edit, name="product-edit"),
]
portal_patterns = [
    path("", views_portal.portal_home, name="home"),
    path("sites/new/", views_portal.site_create, name="site-create"),
    path("products/new/", views_portal.product_create, name="product-create"),
    path("products/<int:pk>/edit/", views_portal.product_edit, name="product-edit"),
    path("users/invite/", views_portal.invite, name="user-invite"),
    path("applications/new/", views_portal.application_create, name="application-create"),
    path("applications/<int:pk>/", views_portal.application_detail, name="application-detail"),
    path("applications/<int:pk>/action/", views_portal.application_action, name="application-action"),
    path("applications/<int:pk>/pack.pdf", views_portal.application_pack, name="application-pack"),
    path("licences/<int:pk>/", views_portal.licence_detail, name="licence-detail"),
    path("licences/<int:pk>/results.pdf", views_portal.licence_results, name="licence-results"),
    path("certificates/<int:pk>/pdf/", views_portal.certificate_pdf, name="certificate-pdf"),
]
public_patterns = [
    path("products/", views_public.directory, name="directory"),
    path("products/<str:quick_code>/", views_public.product, name="product"),
    path("certificates/<str:number>/", views_public.certificate, name="certificate"),
    path("verify/", views_public.verify, name="verify"),
    path("verify/<str:number>/", views_public.verify_certificate, name="verify-certificate"),
]
